"""Running eventlens on AWS: Lambda handler, SQS worker, SNS notifier, packaging.

boto3 is imported lazily everywhere so the core package and CLI work without it
(``pip install 'eventlens[aws]'`` adds it; the Lambda runtime ships it).
"""
