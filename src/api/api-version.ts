/** The apiVersion of every Drover object; apart from meta.ts so that readers of it load no zod. */
export const API_VERSION = 'drover.dev/v1alpha1' as const;
