"""Local development stack: real services run as child processes on loopback."""
