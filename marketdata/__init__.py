"""Market data: consolidating venue tops into the NBBO, and conflating quotes without touching trades."""
