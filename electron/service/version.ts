/** The service's version, shown in Server Properties and `winpop help`. Kept in step with package.json by a test. */
export const SERVICE_VERSION = '0.1.0';
