"""`make chaos`: the whole system driven with trainees while processes are killed, servers
stopped and poison injected, then audited for anything lost or done twice."""
