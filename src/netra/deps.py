"""Request dependencies every domain shares: the app's components and the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from netra.errors import NetraError

if TYPE_CHECKING:
    from netra.components import Components


def get_components(request: Request) -> Components:
    components: Components = request.app.state.components
    return components


AppComponents = Annotated["Components", Depends(get_components)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on error."""
    components = get_components(request)
    async with components.db.sessions() as session:
        try:
            yield session
        except NetraError as error:
            if error.keeps_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": commit before the response is sent, so a client that reads right
# after a 201 always sees its write.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
