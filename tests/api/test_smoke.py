from tests.support import Pod


async def test_register_login_and_read_current(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["handle"] == f"alice@{pod.host}"
    _, acct = await pod.call("GET", "/api/v1/accounts/current.json", alice, expect=200)
    assert acct["email"] == "alice@example.org"
