"""The engineers' wage settlement (服务工资结算, seed 002): rates per service mode
and distance band; the completed jobs are the field jobs' signed service reports."""
