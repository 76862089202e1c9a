"""Constants the council tests share (imported by name; ``conftest`` modules are not,
since several test directories have one)."""

# The age band of four included children: a subgroup that must never be published.
SMALL_GROUP = "ZZ4"
