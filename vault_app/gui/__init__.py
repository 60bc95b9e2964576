"""The Qt front end: talks to the core only through its public operations."""
