"""Provenance: invisible watermark, signed C2PA manifests, fingerprints and media I/O.

No Django. `provenance.publish.publish` is the only way a generated video reaches disk.
"""
