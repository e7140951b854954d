"""Reference pilot: healthcare (medical-device cleanroom and batch records). The spec is ``pilot.yaml``."""
