import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ko-ai-server')
    .setDescription(
      'Korean greeting chatbot (retrieval with FAISS + a GPT-2 style generator) and vision models (MNIST digit ' +
        'recognition, face mosaic), served in-process with ONNX. Every error has the shape ' +
        '`{ statusCode, error, message, requestId }`. socket.io namespaces are described in the README.',
    )
    .setVersion('0.1.0')
    // Needed only when API_KEYS is set; health probes are open whatever the keys.
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (API_KEYS / ADMIN_API_KEYS)' })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'X-API-Key')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('X-API-Key')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the JSON at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApi(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
