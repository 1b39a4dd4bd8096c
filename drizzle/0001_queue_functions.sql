-- Custom migration: hand-written SQL the schema builder cannot express.

-- Retry backoff, used by fail and by rescue so both compute the same delay. Seconds until the next
-- attempt after `attempts` attempts: error_eta_inc doubling per attempt (15, 30, 60, ...) capped at
-- error_eta_max, with +-10% jitter so tasks that failed together do not retry in lock-step. The
-- jitter never pushes the delay past the cap.
CREATE OR REPLACE FUNCTION eventix_backoff_seconds(inc integer, cap integer, attempts integer)
RETURNS double precision
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
  SELECT least(
    cap::double precision,
    least(cap::double precision, inc::double precision * power(2, least(greatest(attempts, 1) - 1, 30)))
      * (0.9 + random() * 0.2)
  )
$$;
