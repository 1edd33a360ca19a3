"""The optimizer study (in progress): sharpness measures so far."""
