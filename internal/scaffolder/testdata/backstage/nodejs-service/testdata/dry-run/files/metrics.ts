// Metrics for PAYMENTS_API
export const metrics = { prefix: 'payments_api_' };
