"""Running worker threads in shard processes (one Engine per shard, a coordinator in front)."""
