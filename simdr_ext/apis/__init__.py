# Copyright (c) simdr_ext contributors. All rights reserved.
"""Importable entry points behind the command-line tools."""
