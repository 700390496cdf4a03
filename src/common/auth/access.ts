import { SetMetadata } from '@nestjs/common';

/** Who may call a route when API keys are on (API_KEYS / ADMIN_API_KEYS): read by the auth module's guard. */
export const ACCESS = 'access';
export type Access = 'public' | 'key' | 'admin';

/** Open to anyone, keys or not (health probes). */
export const Public = () => SetMetadata(ACCESS, 'public' satisfies Access);

/** Changes server state for everyone: needs an admin key (ADMIN_API_KEYS) once any keys are configured. */
export const AdminOnly = () => SetMetadata(ACCESS, 'admin' satisfies Access);
