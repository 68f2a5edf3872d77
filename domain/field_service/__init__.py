"""The field-service context (seed 001): intake, dispatch, visits, service reports."""
