from volano.core import geography


def test_provinces_and_regions_come_from_istat():
    assert len(geography.provinces()) == 110
    assert len(geography.regions()) == 20
    assert geography.province_code("Milano") == "MI"
    assert geography.province_code(" mi ") == "MI"
    assert geography.province_code("Forli-Cesena") == "FC"
    assert geography.province_code("Bozen") == "BZ"
    assert geography.province_code("Atlantide") is None
    assert geography.region_of("BG") == "Lombardia"
    assert geography.region_name("lombardia") == "Lombardia"


def test_a_cap_points_to_its_comune():
    comune = geography.comune_for(cap="24121")
    assert comune is not None and comune.name == "Bergamo" and comune.province == "BG"
    # Roma has many CAPs; each one points to Roma
    assert geography.comune_for(cap="00184").name == "Roma"
    assert geography.comune_for(cap="99999") is None
