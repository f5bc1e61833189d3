/** What GET / and the OpenAPI document say about the service. Kept equal to package.json by a spec. */
export const SERVICE_NAME = 'Brain_Net Sandbox';
export const SERVICE_VERSION = '0.1.0';
