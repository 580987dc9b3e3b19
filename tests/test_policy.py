"""The server's policy (jupyter_classroom/policy.py) as a unit: who is an admin, who may
create rooms, who takes the rooms kept in reserve; configured names and a hub's answers."""

from __future__ import annotations

from jupyter_classroom.policy import HubPolicy, HubRoles, Policy, StaticPolicy

PEOPLE = ("owner", "ops", "teacher", "student")


def answers(policy: Policy) -> dict[str, set[str]]:
    """Each question, and the people the policy answers yes."""
    return {
        "admin": {u for u in PEOPLE if policy.is_admin(u)},
        "create": {u for u in PEOPLE if policy.may_create(u)},
        "instructor": {u for u in PEOPLE if policy.is_instructor(u)},
    }


def test_a_one_person_server_without_admin_users_makes_everyone_an_admin() -> None:
    policy = StaticPolicy.for_server((), None, owner="owner", one_person=True)
    everyone = set(PEOPLE)
    assert answers(policy) == {"admin": everyone, "create": everyone, "instructor": everyone}


def test_a_server_of_several_users_makes_the_owner_alone_admin_by_default() -> None:
    policy = StaticPolicy.for_server((), None, owner="owner", one_person=False)
    # everyone may create (no instructor_users); only the owner takes the reserved rooms
    assert answers(policy) == {"admin": {"owner"}, "create": set(PEOPLE), "instructor": {"owner"}}


def test_configured_admins_and_instructors() -> None:
    for one_person in (True, False):  # configured names mean the same on either server
        policy = StaticPolicy.for_server(["ops"], ["teacher"], owner="owner", one_person=one_person)
        assert answers(policy) == {
            "admin": {"ops"},
            "create": {"ops", "teacher"},
            "instructor": {"ops", "teacher"},
        }


def test_an_empty_instructor_set_lets_only_admins_create() -> None:
    policy = StaticPolicy.for_server(["ops"], [], owner="owner", one_person=True)
    assert answers(policy) == {"admin": {"ops"}, "create": {"ops"}, "instructor": {"ops"}}


def test_instructor_users_alone_leave_everyone_admin_on_a_one_person_server() -> None:
    policy = StaticPolicy.for_server((), ["teacher"], owner="owner", one_person=True)
    assert answers(policy)["admin"] == set(PEOPLE)
    assert answers(policy)["create"] == set(PEOPLE)  # admins may always create


def test_the_hub_policy_adds_hub_admins_and_the_instructor_group() -> None:
    roles = HubRoles()
    roles.record("owner", True, ())  # a hub admin
    roles.record("teacher", False, ["instructors", "staff"])
    roles.record("student", False, ["instructors-2024"])
    policy = HubPolicy(roles, "instructors")
    assert answers(policy) == {
        "admin": {"owner"},
        "create": {"owner", "teacher"},
        "instructor": {"owner", "teacher"},
    }
    # configured names count besides the hub's; nobody is anything by default
    policy = HubPolicy(
        roles, "staff", admin_users=frozenset({"ops"}), instructor_users=frozenset({"student"})
    )
    assert answers(policy) == {
        "admin": {"owner", "ops"},
        "create": {"owner", "ops", "teacher", "student"},
        "instructor": {"owner", "ops", "teacher", "student"},
    }
    assert answers(HubPolicy(HubRoles(), "instructors")) == {
        "admin": set(),
        "create": set(),
        "instructor": set(),
    }


def test_the_hub_policy_follows_the_hubs_latest_answer() -> None:
    roles = HubRoles()
    roles.record("teacher", True, ["instructors"])
    policy = HubPolicy(roles, "instructors")
    assert policy.is_admin("teacher") and policy.may_create("teacher")
    roles.record("teacher", False, [])  # no longer admin, taken out of the group
    assert not policy.is_admin("teacher") and not policy.may_create("teacher")
