"""AWS Organizations' SCP quotas, which moto does not enforce, as AWS answers them.

- A service control policy's document is at most 5,120 characters, whitespace included:
  CreatePolicy and UpdatePolicy with a longer one fail with
  ConstraintViolationException (reason POLICY_CONTENT_LIMIT_EXCEEDED).
- An account, OU or root has at most 5 SCPs attached (FullAWSAccess included):
  AttachPolicy of a sixth fails with ConstraintViolationException (reason
  POLICY_NUMBER_LIMIT_EXCEEDED).

Source: AWS Organizations User Guide, "Quotas and service limits for AWS Organizations"
(maximum size of a policy document: SCPs 5,120 characters; SCPs attached to a root, OU
or account: 5).
"""

from moto.organizations.exceptions import ConstraintViolationException
from moto.organizations.models import OrganizationsBackend

SCP = "SERVICE_CONTROL_POLICY"
SCP_MAX = 5120
SCPS_PER_TARGET = 5


def _check_size(kind, content):
    if kind == SCP and content is not None and len(content) > SCP_MAX:
        raise ConstraintViolationException(
            f"The provided policy document exceeds the maximum size of {SCP_MAX} characters"
            " (POLICY_CONTENT_LIMIT_EXCEEDED)."
        )


_create = OrganizationsBackend.create_policy
_update = OrganizationsBackend.update_policy
_attach = OrganizationsBackend.attach_policy


def create_policy(self, **kwargs):
    _check_size(kwargs.get("Type", ""), kwargs.get("Content"))
    return _create(self, **kwargs)


def update_policy(self, **kwargs):
    policy = self.get_policy_by_id(kwargs["PolicyId"])
    _check_size(policy.type, kwargs.get("Content"))
    return _update(self, **kwargs)


def attach_policy(self, **kwargs):
    policy = self.get_policy_by_id(kwargs["PolicyId"])
    target = kwargs["TargetId"]
    if policy.type == SCP:
        holder = next((a for a in self.accounts if a.id == target), None) or next(
            (ou for ou in self.ou if ou.id == target), None
        )
        attached = [p for p in getattr(holder, "attached_policies", []) if p.type == SCP]
        if policy not in attached and len(attached) >= SCPS_PER_TARGET:
            raise ConstraintViolationException(
                "You have attached the maximum number of policies of this type to the"
                " target (POLICY_NUMBER_LIMIT_EXCEEDED)."
            )
    return _attach(self, **kwargs)


def install():
    OrganizationsBackend.create_policy = create_policy
    OrganizationsBackend.update_policy = update_policy
    OrganizationsBackend.attach_policy = attach_policy
