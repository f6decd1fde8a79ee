"""Reference data: the files a user edits, their validation, and their publication onto the stream."""
