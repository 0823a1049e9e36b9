"""`attesta`: the command line for staff and ops; it speaks only the public HTTP API."""
