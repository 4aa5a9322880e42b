"""Ready-made lead documents, without Hypothesis: the manual's example lead and real
places, for demos, docs and tests alike (``qleads.testing.strategies`` builds on them).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FIRST_NAMES",
    "GERMAN_PLACES",
    "PLACES",
    "SURNAMES",
    "manual_example_document",
]

#: Common German first names and surnames, for demo and benchmark customers.
FIRST_NAMES: tuple[str, ...] = (
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sophie",
    "Felix",
    "Laura",
    "Maximilian",
    "Lea",
    "Paul",
    "Katrin",
    "Stefan",
    "Sabine",
    "Thomas",
    "Petra",
    "Michael",
    "Claudia",
    "Andreas",
    "Julia",
    "Frank",
    "Heike",
    "Jürgen",
    "Monika",
    "Uwe",
)
SURNAMES: tuple[str, ...] = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Lehmann",
    "Köhler",
)

#: Real German postal codes with their cities, for documents that route like real ones.
GERMAN_PLACES: tuple[tuple[str, str], ...] = (
    ("04107", "Leipzig"),
    ("01067", "Dresden"),
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("40213", "Düsseldorf"),
    ("44135", "Dortmund"),
    ("45127", "Essen"),
    ("28195", "Bremen"),
    ("30159", "Hannover"),
    ("90402", "Nürnberg"),
    ("33602", "Bielefeld"),
    ("53111", "Bonn"),
    ("48143", "Münster"),
    ("76133", "Karlsruhe"),
    ("68159", "Mannheim"),
    ("86150", "Augsburg"),
    ("99084", "Erfurt"),
    ("39104", "Magdeburg"),
    ("14467", "Potsdam"),
    ("24103", "Kiel"),
    ("18055", "Rostock"),
    ("06108", "Halle (Saale)"),
    ("09111", "Chemnitz"),
    ("07743", "Jena"),
    ("93047", "Regensburg"),
    ("79098", "Freiburg im Breisgau"),
)

#: Places per country for documents outside Germany (each in its country's format).
PLACES: dict[str, tuple[tuple[str, str], ...]] = {
    "DE": GERMAN_PLACES,
    "AT": (("1010", "Wien"), ("8010", "Graz"), ("4020", "Linz"), ("5020", "Salzburg")),
    "CH": (("8001", "Zürich"), ("3011", "Bern"), ("1201", "Genève"), ("4051", "Basel")),
    "NL": (
        ("1012 JS", "Amsterdam"),
        ("3011 AD", "Rotterdam"),
        ("2511 CV", "Den Haag"),
        ("3511 LX", "Utrecht"),
    ),
}


def manual_example_document() -> dict[str, Any]:
    """The lead of the manual's Anlage 2 (ID 279) as the calculator would send it.

    The manual shows only the date of receipt (27.07.2018); the time of day is assumed.
    """
    return {
        "source_id": "solarrechner-279",
        "received_at": "2018-07-27T09:00:00+02:00",
        "contact": {
            "name": "Test3 DEipzig",
            "street": "Härtelstraße 32",
            "postal_code": "04107",
            "city": "Leipzig",
            "country": "DE",
            "email": "q-cells@mellowmessage.de",
            "phone": "034114065515",
            "reachability": "immer",
            "comment": "",
        },
        "consumption": {
            "persons": 3,
            "annual_kwh": 3800,
            "price_ct_per_kwh": 29,
            "main_usage": "Wochentags",
        },
        "roof": {
            "area_m2": 99,
            "tilt_deg": 30,
            "azimuth_deg": 180,
            "modules": "Q.PEAK DUO BLK-G5 und Q.PEAK DUO-G5",
            "module_count": 16,
            "storage_interest": False,
        },
        "costs": {
            "per_month": {"with_pv": "15.00", "without_pv": "92.00", "savings": "77.00"},
            "per_year": {"with_pv": "174.00", "without_pv": "1102.00", "savings": "928.00"},
            "after_20_years": {
                "with_pv": "9132.00",
                "without_pv": "29611.00",
                "savings": "20479.00",
            },
        },
        "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
    }
