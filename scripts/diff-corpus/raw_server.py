"""A raw-socket HTTP/1.1 server for the differential capture corpus (scripts/make-diff-corpus.sh).

It does on purpose what real servers do in incidents and well-behaved frameworks avoid: chunked
responses with trailers, answers cut by a reset, requests never answered, close-delimited bodies,
100-continue by hand, and large bodies for a client that does not read (zero windows).
usage: python3 raw_server.py HOST PORT
"""

import socket
import struct
import sys
import threading
import time


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None, buf
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode("latin1")
    return None


def handle(conn):
    buf = b""
    try:
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                return
            line = head.split(b"\r\n", 1)[0].decode("latin1")
            method, path, _ = line.split(" ", 2)
            cl = int(header(head, b"content-length") or 0)
            if header(head, b"expect") == "100-continue":
                if path.startswith("/reject"):
                    # refuse the upload before it is sent; the client must not send the body
                    conn.sendall(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
                    continue
                time.sleep(0.02)
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(buf) < cl:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            buf = buf[cl:]
            if path.startswith("/trailers"):
                parts = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Trailer: X-Checksum, X-Tokens\r\nContent-Type: text/plain\r\n\r\n"]
                for i in range(5):
                    chunk = (f"part {i} " * (i * 40 + 1)).encode()
                    parts.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                parts.append(b"0\r\nX-Checksum: abc123\r\nX-Tokens: 42\r\n\r\n")
                for p in parts:
                    conn.sendall(p)
                    time.sleep(0.005)
            elif path.startswith("/chunk-ext"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\n\r\n")
            elif path.startswith("/reset-early"):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            elif path.startswith("/rst"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 3000)
                time.sleep(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            elif path.startswith("/hang"):
                time.sleep(30)
                return
            elif path.startswith("/close-delimited"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n")
                for i in range(20):
                    conn.sendall(b"line %d of a body that ends when the server closes\n" % i)
                    time.sleep(0.002)
                conn.shutdown(socket.SHUT_WR)
                time.sleep(0.2)
                return
            elif path.startswith("/http10"):
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style body\n")
                conn.shutdown(socket.SHUT_WR)
                time.sleep(0.2)
                return
            elif path.startswith("/big"):
                n = int(path.split("=")[1]) if "=" in path else 4 << 20
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                block = b"z" * 65536
                sent = 0
                while sent < n:
                    k = min(len(block), n - sent)
                    conn.sendall(block[:k])
                    sent += k
            elif path.startswith("/split-head"):
                # the head in small pieces, with pauses (segments of a reassembled PDU)
                for piece in [b"HTTP/1.1 2", b"00 OK\r\nContent-", b"Length: 5\r\n", b"\r\n", b"hel", b"lo"]:
                    conn.sendall(piece)
                    time.sleep(0.01)
            elif path.startswith("/interim"):
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                time.sleep(0.01)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            else:
                body = b"ok " + path.encode() + b"\n"
                if method == "HEAD":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except (ConnectionError, OSError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


main()
