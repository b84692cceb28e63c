"""Sites: a customer location with an account tier, owning cameras."""

from fastapi import APIRouter, Depends
from sqlalchemy import func, select, tuple_

from video_service.api.deps import AdminDep, PrincipalDep, SessionDep, SiteWritesDep, find_site
from video_service.api.errors import Conflict
from video_service.api.models import Camera, Site
from video_service.api.pagination import (
    After,
    Limit,
    created_cursor,
    parse_created_cursor,
    refuse_offset,
)
from video_service.api.schemas import SiteCreate, SitePublic, SitesPublic, SiteUpdate

router = APIRouter(prefix="/api/sites", tags=["sites"])


@router.post("", status_code=201)
def create_site(body: SiteCreate, session: SiteWritesDep, _: AdminDep) -> SitePublic:
    site = Site(name=body.name, tier=body.tier)
    session.add(site)
    session.flush()
    return SitePublic.model_validate(site)


@router.get("", dependencies=[Depends(refuse_offset)])
def list_sites(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 50, after: After = None
) -> SitesPublic:
    """Oldest first, a page at a time: `next` is the cursor of the following page."""
    query = select(Site)
    if not principal.is_admin:
        query = query.where(Site.id.in_(principal.site_ids))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if after is not None:
        query = query.where(tuple_(Site.created_at, Site.id) > parse_created_cursor(after))
    sites = list(session.scalars(query.order_by(Site.created_at, Site.id).limit(limit)))
    following = created_cursor(sites[-1].created_at, sites[-1].id) if len(sites) == limit else None
    data = [SitePublic.model_validate(s) for s in sites]
    return SitesPublic(data=data, count=count, next=following)


@router.get("/{site_id}")
def get_site(site_id: str, session: SessionDep, principal: PrincipalDep) -> SitePublic:
    principal.check_site(site_id)
    return SitePublic.model_validate(find_site(session, site_id))


@router.patch("/{site_id}")
def update_site(site_id: str, body: SiteUpdate, session: SiteWritesDep, _: AdminDep) -> SitePublic:
    site = find_site(session, site_id)
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(site, name, value)
    return SitePublic.model_validate(site)


@router.delete("/{site_id}", status_code=204)
def delete_site(site_id: str, session: SiteWritesDep, _: AdminDep) -> None:
    site = find_site(session, site_id)
    if session.scalar(select(func.count()).where(Camera.site_id == site_id)):
        raise Conflict("the site still has cameras: delete them first")
    session.delete(site)
