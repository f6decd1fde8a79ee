"""Post-trade jobs over a closed day's log: CAT and OATS files, supervisory reports, execution quality."""
