"""The returns context: return and exchange (退换货, RMA) of a request of type `return`."""
