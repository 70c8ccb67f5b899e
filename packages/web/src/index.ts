export { createWebPortal, SESSION_COOKIE, LOGIN_COOKIE } from './web-portal.js';
export type { WebPortal, WebPortalOptions, WebContext, WebRoutes, RequestSession } from './web-portal.js';
export { startWebPortal, type StartedWebPortal } from './start-web-portal.js';
export { webFrontEnd, webIdentity } from './web-front-end.js';
export { webConfigSchema, isLoopbackUrl, type WebConfig } from './web-config.js';
export { WebSessions, hashSessionId, csrfTokenOf, type OpenSession, type SessionEnd } from './web-sessions.js';
export { OidcSignIn, type OidcSignInOptions, type PendingSignIn, type SignedInIdentity } from './oidc-sign-in.js';
export { labPersonOf } from './person-mapping.js';
export { webActorId } from './web-audit.js';
export {
  WebSignInRefusedError,
  WebUnknownPersonError,
  WebRequestRefusedError,
  WebProviderUnavailableError,
  type SignInRefusal,
} from './web-errors.js';
export { html, escapeHtml, SafeHtml } from './html.js';
export { page, messagePage, buttonForm, csrfField, headerLinks, type PageViewer } from './pages/layout.js';
export { sendPage } from './web-portal.js';
export { teacherGridPage } from './pages/teacher-pages.js';
export { registerTeacherRoutes } from './teacher-routes.js';
export { StoreProgressFeed, deployTopic, type StoreProgressFeedOptions } from './store-progress-feed.js';
export { registerAdminRoutes } from './admin-routes.js';
export { registerLinkChatRoutes, linkChatPage } from './link-chat-routes.js';
