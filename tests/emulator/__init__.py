"""The AWS emulator harness: moto in server mode made faithful to AWS where the product relies on it.

`server.py` runs the emulator (for `make demo`, molecule and pytest); `fixes/` holds, one file per
service, the patches that make moto behave as AWS does (see ../../../shared/EMULATOR.md) and the
stand-ins for operations moto lacks. Product code never knows it is talking to the emulator.
"""
