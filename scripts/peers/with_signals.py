"""Runs a command with every signal unblocked: exec keeps the signal mask, and Foundation's Process
starts children from a thread that blocks nearly all signals, so a test relay would never see the
SIGTERM that asks it to stop (and the harness would wait its 5 s before SIGKILL, every time).

Usage: python with_signals.py COMMAND [ARG...]
"""
import os
import signal
import sys

signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.execvp(sys.argv[1], sys.argv[1:])
