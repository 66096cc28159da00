"""The sync protocol: messages (protocol), per-connection state (state), the socket worker."""
