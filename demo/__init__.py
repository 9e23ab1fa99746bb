# Copyright (c) simdr_ext contributors. All rights reserved.
