import { Router, type RequestHandler } from 'express';
import type { ControllerMetrics } from './controller-metrics.js';

/** `/metrics` in Prometheus text format from the project's own registry. */
export function metricsRoutes(metrics: ControllerMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res, next) => {
    try {
      const body = await metrics.registry.metrics();
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(body);
    } catch (err) {
      next(err);
    }
  });
  return router;
}

/** Times every request, labelled by route template (unmatched paths collapse to one label). */
export function httpMetrics(metrics: ControllerMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const template = req.route?.path as string | undefined;
      const route = template ? `${req.baseUrl}${template}` : '(unmatched)';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
