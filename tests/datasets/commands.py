"""The command lines the dataset tests render: small enough to keep the tests fast."""

# A 64x64 detector, spots everywhere (default_F), one sub-pixel, two phi steps per frame, noise with -seed 3.
SERIES = ("-cell 70 80 90 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 60 -detpixels 64 -oversample 1 "
          "-osc 0.5 -phisteps 2 -phi 3 -seed 3").split()
SERIES_FRAMES = 4
STILLS = ("-cell 70 80 90 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 60 -detpixels 64 -oversample 1 "
          "-misset_seed 11 -seed 5").split()


def without(command, flag):
    """``command`` without ``flag`` and its one value."""
    at = command.index(flag)
    return command[:at] + command[at + 2:]
