"""Raw-socket HTTP/1.1 clients for the differential capture corpus (scripts/make-diff-corpus.sh).

usage: python3 raw_client.py MODE HOST PORT
  pipeline   several requests written at once on one connection, then the answers read
  slowread   a small receive buffer and a client that stops reading (zero windows), then drains
  http09     a version-less request line (HTTP/0.9 style)
  lf-only    requests whose lines end with a bare LF
"""

import socket
import sys
import time

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(rcvbuf=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((host, port))
    return s


def drain(s, seconds):
    s.settimeout(seconds)
    total = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            total += len(d)
    except socket.timeout:
        pass
    return total


if mode == "pipeline":
    s = connect()
    paths = sys.argv[4].split(",") if len(sys.argv) > 4 else ["/a", "/b", "/c", "/d", "/e"]
    reqs = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: pipeliner\r\n\r\n" % p.encode() for p in paths)
    post = b'{"prompt": "hello"}'
    reqs += b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(post), post)
    reqs += b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"
    reqs += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s.sendall(reqs)
    print("pipeline read", drain(s, 3))
elif mode == "slowread":
    path = sys.argv[4] if len(sys.argv) > 4 else "/big=4194304"
    s = connect(rcvbuf=4096)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
    time.sleep(1.5)  # not reading: the window closes
    total = 0
    s.settimeout(5)
    try:
        while True:
            d = s.recv(2048)
            if not d:
                break
            total += len(d)
            time.sleep(0.0005)
    except socket.timeout:
        pass
    print("slowread read", total)
elif mode == "http09":
    s = connect()
    s.sendall(b"GET /old\r\n")
    print("http09 read", drain(s, 1))
elif mode == "lf-only":
    s = connect()
    s.sendall(b"GET /lf1 HTTP/1.1\nHost: x\n\nGET /lf2 HTTP/1.1\nHost: x\nConnection: close\n\n")
    print("lf-only read", drain(s, 2))
