"""The JSON reads of field service and spare parts (issue 16): a request's field
job, an engineer's jobs, a part's stock (CONTRACT.md: `GET /parts/{sku}` →
`{sku, stock: {WAREHOUSE: qty}}`, here also `faulty` and `held`), every part."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from domain import ids
from domain.access import Principal
from domain.aggregates.part_stock import SKU_SHAPE, normalise_sku
from domain.errors import NotFound
from projections import field_queries
from projections.registry import ReadModels

QueryEndpoint = Callable[[Request, Principal], Awaitable[Any]]
Guarded = Callable[[str, str, QueryEndpoint], Route]


def field_query_routes(models: ReadModels, guarded: Guarded) -> list[Route]:
    reads = FieldReads(models)
    return [
        guarded("/service-requests/{ref}/field-job", "read_queues", reads.field_job),
        guarded("/field-jobs/mine", "field_work", reads.my_jobs),
        guarded("/parts", "read_parts", reads.parts),
        guarded("/parts/{sku}", "read_parts", reads.part),
    ]


class FieldReads:
    def __init__(self, models: ReadModels) -> None:
        self.models = models

    async def field_job(self, request: Request, who: Principal) -> Any:
        reference = request.path_params["ref"]
        if not ids.REFERENCE_PATTERN.fullmatch(reference):
            raise NotFound(f"no service request {reference!r}")
        job = await run_in_threadpool(field_queries.field_job, self.models, who, reference)
        if job is None:
            raise NotFound(f"{reference} has no field job (no intake yet)")
        return job

    async def my_jobs(self, request: Request, who: Principal) -> Any:
        items = await run_in_threadpool(field_queries.jobs_of, self.models, who.email, [])
        return {"items": items}

    async def parts(self, request: Request, who: Principal) -> Any:
        return {"items": await run_in_threadpool(field_queries.all_parts, self.models)}

    async def part(self, request: Request, who: Principal) -> Any:
        sku = normalise_sku(request.path_params["sku"])
        if not SKU_SHAPE.fullmatch(sku):
            raise NotFound(f"no part {sku!r} in the store")
        return await run_in_threadpool(field_queries.part, self.models, sku)
