"""JSON queries under /api/v1 and the OpenAPI document.

Areas keep their OpenAPI paths in their own module (read_api.openapi_<area>,
built from read_api.openapi's helpers); they join the document here, once,
whichever module is imported first."""

from read_api.openapi import OPENAPI
from read_api.openapi_admin import ADMIN_PATHS
from read_api.openapi_audit import AUDIT_PATHS
from read_api.openapi_complaints import COMPLAINT_PATHS
from read_api.openapi_customers import CUSTOMER_PATHS
from read_api.openapi_field import FIELD_PATHS
from read_api.openapi_knowledge import knowledge_paths
from read_api.openapi_phone import PHONE_PATHS
from read_api.openapi_products import PRODUCT_PATHS
from read_api.openapi_reports import REPORT_PATHS
from read_api.openapi_request_actions import REQUEST_ACTION_PATHS
from read_api.openapi_requests import REQUEST_PATHS
from read_api.openapi_returns import returns_paths

OPENAPI["paths"].update({**REQUEST_PATHS, **CUSTOMER_PATHS, **PRODUCT_PATHS, **AUDIT_PATHS,
                         **REPORT_PATHS, **ADMIN_PATHS, **COMPLAINT_PATHS, **FIELD_PATHS,
                         **knowledge_paths(), **PHONE_PATHS, **REQUEST_ACTION_PATHS})
for _path, _operations in returns_paths().items():  # may add a GET beside a PATCH
    OPENAPI["paths"].setdefault(_path, {}).update(_operations)
