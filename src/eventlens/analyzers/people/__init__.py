"""People: face descriptors and a person id per face (``PeopleAnalyzer``)."""

from eventlens.analyzers.people.analyzer import PeopleAnalyzer

__all__ = ["PeopleAnalyzer"]
