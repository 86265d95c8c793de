"""A timer whose interval comes from configuration (nameko's is fixed in the decorator).

Timers run in every instance of a service: what they do must be guarded by the database
(a conditional update, an optimistic version, a unique key), never by "only one runs".
"""

from __future__ import annotations

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key: str, default: float, **kwargs) -> None:
        super().__init__(interval=default, **kwargs)
        self.config_key = config_key

    def setup(self) -> None:
        super().setup()
        value = self.container.config.get(self.config_key)
        if value not in (None, ""):
            self.interval = float(value)


timer = ConfiguredTimer.decorator
