"""The stand-in AI Connect Agent Jobs API, for tests, demos and benchmarks (see agentjobs_api)."""
from standin.agentjobs_api import StandInAPI

__all__ = ["StandInAPI"]
