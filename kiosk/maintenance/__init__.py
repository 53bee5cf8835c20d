"""The technician maintenance screen's logic (issue 7), no Kivy: who may enter (technicians.py,
lockout.py, access.py), the audit chain (audit.py), config editing (config_edit.py), the USB export
of the unsent queue (export.py), the log tail (logs.py) and system facts (system.py)."""
