"""Real servers on loopback for tests: an HTTPS file server (`loopback`), test certificates
(`certs`), a Google token endpoint + Sheets API v4 emulator (`google`), and a webhook receiver (`webhook`).

Every server binds port 0 on 127.0.0.1, runs in daemon threads and stops when its
context manager exits; slow replies wake up at once when the server stops.
"""
