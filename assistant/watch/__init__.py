"""Watching a chat over hours and days: states, incidents, a circuit breaker, history, alerts.

`states` turns checks into confirmed states (`up`, `degraded`, `down`, `unknown`) and
incidents, and says when the next browser check is due (backing off while down, at once
when the status page or the API says the provider is back). `checks` runs the browser
check and the cheap probes; `loop` schedules them through the one clock; `history`
keeps everything in SQLite; `alerts` and `metrics` tell people and the monitors they
already run; `page` renders the history as JSON and one self-contained HTML page.
"""
