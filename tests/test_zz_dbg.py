from tests.test_disclosure_attacker import ten_beside_ones, attack
def test_dbg(session):
    att = attack(session, ten_beside_ones())
    for f in att.recovered():
        print(f)
