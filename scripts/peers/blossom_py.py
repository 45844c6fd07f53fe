#!/usr/bin/env python3
"""python-blossom (an independent Blossom client) as a command for the tests; prints JSON.

  blossom_py.py requirements SERVER KEY FILE   BUD-06 HEAD /upload
  blossom_py.py upload SERVER KEY FILE         BUD-02 PUT /upload
  blossom_py.py head SERVER SHA                BUD-01 HEAD
  blossom_py.py get SERVER SHA OUT             BUD-01 GET, written to OUT
  blossom_py.py mirror SERVER KEY URL SHA      BUD-04 PUT /mirror
  blossom_py.py list SERVER KEY                BUD-02 GET /list/<pubkey of KEY>
Exit status 1 with {"error": ..., "status": ...} on a refusal.
"""
import json
import sys

from python_blossom import BlossomClient
from python_blossom.errors import BlossomError


def main(argv):
    cmd = argv[1]
    server = argv[2]
    try:
        if cmd == "requirements":
            c = BlossomClient(nsec=argv[3])
            with open(argv[4], "rb") as f:
                data = f.read()
            out = c.head_upload_requirements(server, data=data, use_auth=True)
        elif cmd == "upload":
            c = BlossomClient(nsec=argv[3])
            out = c.upload_blob(server, file_path=argv[4])
        elif cmd == "head":
            out = BlossomClient().head_blob(server, argv[3])
        elif cmd == "get":
            blob = BlossomClient().get_blob(server, argv[3])
            with open(argv[4], "wb") as f:
                f.write(blob.get_bytes())
            out = {"size": len(blob.get_bytes())}
        elif cmd == "mirror":
            c = BlossomClient(nsec=argv[3])
            out = c.mirror_blob(server, argv[4], argv[5])
        elif cmd == "list":
            c = BlossomClient(nsec=argv[3])
            out = c.list_blobs(server)
        else:
            raise SystemExit(f"unknown command {cmd}")
    except BlossomError as e:
        print(json.dumps({"error": str(e), "status": getattr(e, "status_code", None)}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
