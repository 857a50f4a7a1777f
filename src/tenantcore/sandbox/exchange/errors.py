"""Typed cmdlet errors and their InvokeCommand renderings (wire reference 3.6).

A handler raises `CmdletError`; the HTTP layer renders it as one of the shapes Exchange serves:
- cmdlet errors (not found, already exists, dehydrated, ...): shape A, `ErrorId|Type|Message`
  in `details[0].message`, or shape C, the same facts as a JSON string, when the sandbox is
  configured with `exchange_error_detail_style = "json"`;
- parameter-set errors (unknown or missing parameters): shape B, a `details` entry and the
  text repeated in `innererror.internalexception`;
- argument errors (a value of the wrong type, a bad enum name, out of range): the second
  variant of shape B, no `details`, the text only in `innererror.internalexception`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

Rendering = Literal["cmdlet", "parameter_set", "argument"]

# The directory server Exchange names in "couldn't be found on '<server>'".
DIRECTORY_SERVER = "SBXPR01A001DC001.SBXPR01A001.PROD.OUTLOOK.COM"

_TASKS = "Microsoft.Exchange.Configuration.Tasks"
_INVOCATION = "Microsoft.Exchange.AdminApi.CommandInvocation"
_ODATA_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
_DIRECT_INVOKE = "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"

NOT_FOUND = f"{_TASKS}.ManagementObjectNotFoundException"
ALREADY_EXISTS = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
PROXY_ADDRESS_EXISTS = "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException"
DEHYDRATED = f"{_TASKS}.CmdletInvalidOperationInDehydratedContextException"
INVALID_OPERATION = "System.InvalidOperationException"
DATA_VALIDATION = "Microsoft.Exchange.Data.DataValidationException"
RECIPIENT_TASK = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"
MEMBER_ALREADY_EXISTS = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
MEMBER_NOT_FOUND = "Microsoft.Exchange.Management.Tasks.MemberNotFoundException"
AMBIGUOUS_PARAMETER_SET = f"{_INVOCATION}.AmbiguousParameterSetException"
PARAMETER_BINDING = f"{_INVOCATION}.ParameterBindingException"
PARAMETER_TRANSFORMATION = f"{_INVOCATION}.ParameterTransformationException"
PARAMETER_VALIDATION = f"{_INVOCATION}.ParameterBindingValidationException"
THROTTLED = "Microsoft.Exchange.Hygiene.Data.ThrottlingException"
ARGUMENT = "System.ArgumentException"
VALIDATION = "Microsoft.Exchange.Management.Tasks.ValidationException"

DEHYDRATED_MESSAGE = (
    "The command you tried to run isn't currently allowed in your organization. To run this"
    " command, you first need to run the command: Enable-OrganizationCustomization."
)


class CmdletError(Exception):
    """A cmdlet failure as Exchange reports it: HTTP status, exception type and message."""

    def __init__(
        self,
        status: int,
        type_name: str,
        message: str,
        rendering: Rendering = "cmdlet",
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type_name = type_name
        self.message = message
        self.rendering = rendering
        self.retry_after = retry_after


def not_found(identity: str) -> CmdletError:
    return CmdletError(
        404,
        NOT_FOUND,
        f"The operation couldn't be performed because object '{identity}' couldn't be found"
        f" on '{DIRECTORY_SERVER}'.",
    )


def recipient_not_found(identity: str) -> CmdletError:
    """An identity given as a parameter value (a member, a rule's group) resolves to nothing."""
    return CmdletError(
        404,
        NOT_FOUND,
        f'Couldn\'t find object "{identity}". Please make sure that it was spelled correctly'
        " or specify a different object.",
    )


def already_exists(distinguished_name: str) -> CmdletError:
    return CmdletError(400, ALREADY_EXISTS, f"The object '{distinguished_name}' already exists.")


def proxy_address_exists(proxy: str, owner: str) -> CmdletError:
    return CmdletError(
        400,
        PROXY_ADDRESS_EXISTS,
        f'The proxy address "{proxy}" is already being used by the proxy addresses or'
        f' LegacyExchangeDN of "{owner}". Please choose another proxy address.',
    )


def dehydrated() -> CmdletError:
    return CmdletError(400, DEHYDRATED, DEHYDRATED_MESSAGE)


def invalid_operation(message: str) -> CmdletError:
    return CmdletError(400, INVALID_OPERATION, message)


def invalid_value(message: str) -> CmdletError:
    return CmdletError(400, DATA_VALIDATION, message)


def validation(message: str) -> CmdletError:
    return CmdletError(400, VALIDATION, message)


def recipient_task(message: str) -> CmdletError:
    return CmdletError(400, RECIPIENT_TASK, message)


def unknown_parameters(names: list[str]) -> CmdletError:
    return CmdletError(
        400,
        AMBIGUOUS_PARAMETER_SET,
        "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet"
        " parameters specified. " + ", ".join(names),
        "parameter_set",
    )


def ambiguous_parameter_set() -> CmdletError:
    return CmdletError(
        400,
        AMBIGUOUS_PARAMETER_SET,
        "Parameter set cannot be resolved using the specified named parameters.",
        "parameter_set",
    )


def missing_parameters(names: list[str]) -> CmdletError:
    return CmdletError(
        400,
        PARAMETER_BINDING,
        "Cannot process command because of one or more missing mandatory parameters: "
        + " ".join(names)
        + ".",
        "parameter_set",
    )


def cannot_convert(parameter: str, value: Any, type_name: str, reason: str) -> CmdletError:
    shown = value if isinstance(value, str) else json.dumps(value)
    return CmdletError(
        400,
        PARAMETER_TRANSFORMATION,
        f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert"
        f' value "{shown}" to type "{type_name}". Error: "{reason}"',
        "argument",
    )


def bad_enum(parameter: str, value: Any, type_name: str, choices: tuple[str, ...]) -> CmdletError:
    return cannot_convert(
        parameter,
        value,
        type_name,
        f"Unable to match the identifier name {value} to a valid enumerator name. Specify one"
        f" of the following enumerator names and try again: {', '.join(choices)}",
    )


def out_of_range(parameter: str, value: int, low: int, high: int) -> CmdletError:
    if value > high:
        text = (
            f"The {value} argument is greater than the maximum allowed range of {high}. Supply"
            f" an argument that is less than or equal to {high} and then try the command again."
        )
    else:
        text = (
            f"The {value} argument is less than the minimum allowed range of {low}. Supply an"
            f" argument that is greater than or equal to {low} and then try the command again."
        )
    return CmdletError(
        400,
        PARAMETER_VALIDATION,
        f"Cannot validate argument on parameter '{parameter}'. {text}",
        "argument",
    )


def too_long(parameter: str, value: str, limit: int) -> CmdletError:
    return invalid_value(
        f"The length of the property is too long. The maximum length is {limit} and the length"
        f" of the value provided is {len(value)}. (Property: {parameter})"
    )


def null_argument(parameter: str) -> CmdletError:
    return CmdletError(
        400,
        PARAMETER_VALIDATION,
        f"Cannot validate argument on parameter '{parameter}'. The argument is null or empty."
        " Provide an argument that is not null or empty, and then try the command again.",
        "argument",
    )


def _error_id(type_name: str) -> str:
    """A stable `ExxxxxxX`-style error id per exception type, like the ids Exchange prints."""
    return "Ex" + hashlib.sha256(type_name.encode()).hexdigest()[:6].upper()


def _code(status: int) -> str:
    return {404: "NotFound", 429: "TooManyRequests"}.get(status, "BadRequest")


def _warnings() -> dict[str, Any]:
    return {"adminapi.warnings@odata.type": "#Collection(String)", "@adminapi.warnings": []}


def render(error: CmdletError, detail_style: Literal["pipe", "json"]) -> dict[str, Any]:
    """The JSON body Exchange sends for this error."""
    code = _code(error.status)
    if error.rendering == "parameter_set":
        return {
            "error": {
                "code": code,
                "message": "Invalid Operation",
                "details": [
                    {
                        "code": "Client",
                        "target": "",
                        "message": f"|{error.type_name}|{error.message}",
                    }
                ],
                "innererror": _inner("Invalid Operation", error.message, error.type_name),
            }
        }
    if error.rendering == "argument":
        return {
            "error": {
                "code": code,
                "message": "Invalid Operation",
                "innererror": _inner("Invalid Operation", error.message, error.type_name),
                **_warnings(),
            }
        }
    if detail_style == "json":
        detail = json.dumps(
            {
                "Message": error.message,
                "TypeName": error.type_name,
                "StackTrace": None,
                "InnerError": None,
            }
        )
        return {
            "error": {
                "code": code,
                "message": "Error executing cmdlet",
                "details": [{"code": "Context", "target": "", "message": detail}],
                "innererror": {
                    "message": "Error executing cmdlet",
                    "type": "ODataServiceException",
                },
            }
        }
    return {
        "error": {
            "code": code,
            "message": "Error executing cmdlet",
            "details": [
                {
                    "code": "Client",
                    "target": "",
                    "message": f"{_error_id(error.type_name)}|{error.type_name}|{error.message}",
                }
            ],
            "innererror": _inner(
                "Error executing cmdlet",
                f"Exception of type '{_DIRECT_INVOKE}' was thrown.",
                _DIRECT_INVOKE,
            ),
        },
        **_warnings(),
    }


def _inner(message: str, internal_message: str, internal_type: str) -> dict[str, Any]:
    return {
        "message": message,
        "type": _ODATA_EXCEPTION,
        "stacktrace": "",
        "internalexception": {
            "message": internal_message,
            "type": internal_type,
            "stacktrace": "",
        },
    }
