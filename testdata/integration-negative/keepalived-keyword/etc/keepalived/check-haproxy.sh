#!/bin/sh
# Stand-in track script of the negative control.
exit 0
