"""The acting person's roles: one enum, used everywhere."""
import pytest

from core.audit import Actor
from core.errors import Forbidden
from core.models import Role


def officer():
    return Actor(user_id=7, label="kim.lee@pd.test", roles=frozenset({Role.OFFICER}))


def test_an_actor_holds_the_roles_it_was_given_and_no_other():
    assert officer().has_role(Role.OFFICER) and officer().has_role(Role.HR, Role.OFFICER)
    assert not officer().has_role(Role.HR)
    with pytest.raises(Forbidden):
        officer().require(Role.ADMIN)
    officer().require(Role.OFFICER)


def test_a_role_given_as_a_string_is_a_programming_error_not_a_silent_refusal():
    with pytest.raises(TypeError, match="Role members"):
        officer().has_role("officer")
    with pytest.raises(TypeError):
        officer().require("hR")


def test_the_command_line_may_do_anything():
    assert Actor.system("cli").has_role(Role.ADMIN)
